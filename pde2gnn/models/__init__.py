"""The networks around a compiled field: PDEConv (one compiled field as a message-passing layer). May
import integrate, graph, data, the compiler and the shared vocabulary; never train, simulate,
discover or cli.
"""
