"""Graph: the DALI operators (`ops`) and the pipeline that wires a source's
outputs through decode, paired crop, flips and rotations (`pipeline`)."""
