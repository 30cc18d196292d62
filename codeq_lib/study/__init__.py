"""The study layer: how the pipeline's runs are scheduled (`scheduler`), beside the stage
configs (`codeq_lib.stages`) and the runs they make (`codeq_lib.evaluate`, `codeq_lib.collect`)."""
