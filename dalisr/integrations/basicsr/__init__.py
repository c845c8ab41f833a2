"""The seam with basicsr, installed or a repository's vendored copy: one module per thing dalisr rebinds or serves.

``importing`` finds and imports a basicsr copy; ``launcher`` holds the stand-ins for basicsr's data functions
(``stand_ins``: what its loop gets for a dalisr section); ``train_pipeline`` binds them into ``basicsr.train``
(``dalisr train``), ``data_modules`` into ``basicsr.data`` / ``basicsr.models`` for scripts with their own loop,
``script`` runs a repository's script (``dalisr run``); ``registry``: which types stay on a repository's loader;
``resume``: loader positions in resume states; ``video_val``: video models' indexed val sets.

Every ``import basicsr`` in this package is absolute: it means the top-level basicsr, never this package.
"""
