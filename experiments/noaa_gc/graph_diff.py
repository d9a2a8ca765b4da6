"""NOAA stations: the symmetric 4-NN graph over raw (lat, lon) degrees against the great-circle one.
Run: PYTHONPATH=. python experiments/noaa_gc/graph_diff.py > experiments/noaa_gc/runs/graph_diff.json"""
import json
from pde2gnn.data.forecast import load_noaa
from pde2gnn.graph.construction import great_circle_knn_graph, knn_graph

d = load_noaa()
ll = d.pos.double().numpy()
gc = set(map(tuple, great_circle_knn_graph(ll, 4).t().tolist()))
deg = set(map(tuple, knn_graph(ll, 4).t().tolist()))
und = lambda s: {tuple(sorted(e)) for e in s}
g, o = und(gc), und(deg)
print(json.dumps({"stations": len(ll), "directed_edges_great_circle": len(gc),
                  "directed_edges_degrees": len(deg),
                  "undirected_edges_great_circle": len(g), "undirected_edges_degrees": len(o),
                  "only_in_degrees": len(o - g), "only_in_great_circle": len(g - o),
                  "fraction_of_degree_edges_not_great_circle": len(o - g) / len(o),
                  "fraction_differing_of_union": len(o ^ g) / len(o | g)}, indent=1))
