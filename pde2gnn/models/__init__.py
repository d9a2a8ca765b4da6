"""The networks around a compiled field, one small module each: PDEConv (``pdeconv``, one compiled
field as a message-passing layer), the encoder -> ODE block -> decoder of node classification
(``continuous_gnn.ContinuousGNN``), NDCN's encoder -> flow -> decoder (``dynamics``), the EGNN
stack and flow of the n-body task (``egnn``) and the forecasting baseline head (``forecasting``).
May import the compiler, integrate, graph and the shared vocabulary; never data, train,
simulate, discover or cli (the tasks in ``pde2gnn.train.tasks`` hold the data, losses and loops).
"""
