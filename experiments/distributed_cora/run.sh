cd /work/wt22
export PDE2GNN_DATA=/tmp/data PYTHONPATH=/work/wt22 OMP_NUM_THREADS=1
uptime
date +%s.%N > /tmp/wt22_c/t0
/work/main/.venv/bin/torchrun --standalone --nproc-per-node 2 -m pde2gnn train grand --dataset Cora --seeds 10 --epochs 30 --threads 1 --distributed --quiet --results /tmp/wt22_c/two.json > /tmp/wt22_c/two.log 2>&1
date +%s.%N > /tmp/wt22_c/t1
uptime
/work/main/.venv/bin/python -m pde2gnn train grand --dataset Cora --seeds 10 --epochs 30 --threads 1 --quiet --results /tmp/wt22_c/one.json > /tmp/wt22_c/one.log 2>&1
date +%s.%N > /tmp/wt22_c/t2
uptime
