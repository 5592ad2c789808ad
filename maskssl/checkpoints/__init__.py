"""Reading and writing finished runs: checkpoint files (``io``), a run rebuilt for evaluation (``pretrained``),
where pretrained encoder weights come from (``sources``), and exporting an encoder (``export``)."""
