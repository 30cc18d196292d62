"""The study layer: how the pipeline's runs are scheduled (`scheduler`), which policy they sample
(`policies`), collection fanned out on a Ray cluster (`ray_collect`) and the full profile's tiny
smoke run (`smoke`), beside the stage configs (`codeq_lib.stages`) and the runs they make
(`codeq_lib.evaluate`, `codeq_lib.collect`)."""
