"""Sources: the external-source callables that read a dataset's samples.

A source turns sample indices into encoded (or already cropped) frames for
the DALI graph: the whole-file source (`base`), the crop-while-reading window
readers for PNG, png-seek and raw values (`windows`), crop-or-pad for
variable-size sets (`crop_pad`) and the per-sample counters (`stats`).
"""
