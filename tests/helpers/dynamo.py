"""torch.compile as the tests use it: trace only (no kernels generated) and keep the code."""
import torch


def traced_product(ops, values, x):
    """``ops.spmm(values, x)`` under ``torch.compile(fullgraph=True)`` with a backend that
    records the traced FX graph and runs it as it is: the product and the graph's Python
    code (``.code``), where a test reads which form (ELL gather, shifted grid, CSR) was traced."""
    graphs = []

    def backend(gm, example_inputs):
        graphs.append(gm)
        return gm.forward
    torch._dynamo.reset()
    got = torch.compile(ops.spmm, fullgraph=True, backend=backend)(values, x)
    return got, graphs[0].code
