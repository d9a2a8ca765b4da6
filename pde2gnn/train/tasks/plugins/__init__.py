"""One module per ``pde2gnn train`` task, each a :class:`~pde2gnn.train.tasks.task.Task` subclass
(listed in :data:`pde2gnn.train.tasks.registry.TASKS`)."""
