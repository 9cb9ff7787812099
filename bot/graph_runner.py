"""Running the trained model's graph in the server: node after node, without dask's scheduler.

Rasa runs a trained model as a graph of components (tokenizer, featurizers, classifier, ... for a
message; the policies for the next action) through `DaskGraphRunner`. For every run it works out
the part of the graph the targets need, turns it into a dask task graph and hands it to dask's
synchronous scheduler. A message's turn runs the graph three to five times (reading the message,
then one prediction per action), and that bookkeeping cost about 1 ms of a turn's 17 ms (held-out
messages one after another, in one process); under `make bench-load` dask's scheduler took 5 % of
the workers' busy time.

`SequentialGraphRunner` runs the same nodes (Rasa's `GraphNode`s, made by DaskGraphRunner's own
constructor) in an order worked out once per set of targets: every node after the nodes it needs.
Each node gets the same inputs as under dask, so the results are the same (tests/test_speed.py
compares both runners on messages and whole conversations). Training still uses Rasa's runner.

`apply()` makes the server load models with it. Rasa's MessageProcessor names its runner class in
its module and has no setting for it, so `apply` replaces that name; bot/serve.py calls it before
the server starts, so every model the server loads (at start or through the HTTP API) uses it.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text, Tuple

from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner


class SequentialGraphRunner(DaskGraphRunner):
    """DaskGraphRunner whose `run` calls the nodes one after another (module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._orders: Dict[Tuple[Text, ...], List[Text]] = {}  # run order, by targets

    def _order(self, targets: List[Text]) -> List[Text]:
        """The nodes the targets need, each after the nodes it needs (remembered per targets)."""
        orders = self._orders
        key = tuple(targets)
        if key not in orders:
            nodes = self._graph_schema.nodes
            order: List[Text] = []
            placed: set = set()
            visiting: set = set()

            def place(name: Text) -> None:
                if name in placed or name not in nodes:  # not a node: an input of the run
                    return
                if name in visiting:
                    raise GraphRunError(f"The graph has a cycle through '{name}'.")
                visiting.add(name)
                for needed in nodes[name].needs.values():
                    place(needed)
                visiting.discard(name)
                placed.add(name)
                order.append(name)

            for target in targets:
                place(target)
            orders[key] = order
        return orders[key]

    def run(self, inputs: Optional[Dict[Text, Any]] = None,
            targets: Optional[List[Text]] = None) -> Dict[Text, Any]:
        """Runs the graph (see Rasa's GraphRunner.run): the targets' outputs by node name."""
        run_targets = targets if targets else self._graph_schema.target_names
        nodes = self._graph_schema.nodes
        # Under dask, a node receives (name, output) from each node it needs, and an input of the
        # run as (name, value).
        results: Dict[Text, Any] = {}
        for name, value in (inputs or {}).items():
            if name in nodes:
                raise GraphRunError(
                    f"Input value '{name}' clashes with a node name. Make sure that none of the "
                    f"input names passed to the `run` method are the same as node names in the "
                    f"graph schema.")
            results[name] = (name, value)
        try:
            for name in self._order(run_targets):
                results[name] = self._instantiated_nodes[name](
                    *(results[needed] for needed in nodes[name].needs.values()))
            return dict(results[target] for target in run_targets)
        except (RuntimeError, KeyError) as error:
            raise GraphRunError("Error running runner.") from error


def apply() -> None:
    """Make Rasa's MessageProcessor load models with SequentialGraphRunner (module docstring)."""
    import rasa.core.processor

    rasa.core.processor.DaskGraphRunner = SequentialGraphRunner  # type: ignore[misc]
