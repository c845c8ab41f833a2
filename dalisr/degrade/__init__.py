"""Real-ESRGAN-style degradation in the loader: parameters drawn per sample in the source, applied in the DALI graph.

kernels.py draws Real-ESRGAN's three blur kernels (also for the plain
RealESRGANDataset); options.py reads the degradation options, params.py draws them (and the noise fields),
ops.py / resize.py are the graph steps, graph.py chains them as
Real-ESRGAN's ``feed_data`` does.
"""
