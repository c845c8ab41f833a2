"""Read the sample LMDBs back (the paired pipeline replaces this with training batches)."""

from dalisr.config import load_dataset_options
from dalisr.datasets.paired import open_paired_stores, paired_index

cfg = load_dataset_options("pipelines/div2k_x4_lmdb_sample.yml")
stores = open_paired_stores(cfg)
samples = paired_index(cfg, stores)
total = sum(len(stores[r].get(s.keys[r][0])) for s in samples for r in ("gt", "lq"))
print(f"{len(samples)} pairs, {total / 1e6:.1f} MB read back from {stores['gt'].describe()}")
