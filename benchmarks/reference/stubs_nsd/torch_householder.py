"""Stand-in for the torch-householder package: orgqr of unit-diagonal Householder vectors,
Q = H_1 ... H_k, H_c = I - 2 v_c v_c^T / |v_c|^2, with torch.linalg.householder_product."""
import torch


def torch_householder_orgqr(param, tau=None):
    if tau is None:
        tau = 2.0 / param.square().sum(dim=-2)
    return torch.linalg.householder_product(param, tau)
