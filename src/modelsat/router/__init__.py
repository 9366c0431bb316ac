"""The Model-SAT router, in two sub-packages that meet only at the router directory and `config.py`.

    routing/      what routes: reading a router directory (`folder.py`), reading the request
                  (`routing_text.py`), the capability encoder and accuracy readout (`capability.py`,
                  `prototypes.py`), calibration, the routing service (`service.py`); the optional capability-LLM
                  scoring lives in `routing/llm/` and is imported only by the full routing mode
    training/     what trains: training data, losses, model mixing, prefix store, weight averaging, the loop,
                  and writing a router directory (`artifact.py`)

Training imports routing (it trains the network routing runs); routing never imports training.
"""
