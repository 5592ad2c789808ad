"""How a run is configured: the typed sections (``run.RunConfig``, ``evaluation.EvalConfig``), YAML recipe files
with ``_base_`` (``yaml_files``), installed recipes by name (``recipes``), resolving the layers core defaults <
modality recipe < file < overrides (``load.load_config``), and printing each value's origin (``show``)."""
