"""Point-cloud datasets: procedural shapes (offline default) and readers of the common file layouts."""

from maskssl_pointcloud.data.arrays import PointArrayDataset, normalize_cloud, relabel
from maskssl_pointcloud.data.build import build_point_dataset
from maskssl_pointcloud.data.files import ShapeNet55, read_modelnet40_h5, read_npz, read_scanobjectnn
from maskssl_pointcloud.data.procedural import SHAPES, ProceduralShapes

__all__ = [
    "SHAPES",
    "PointArrayDataset",
    "ProceduralShapes",
    "ShapeNet55",
    "build_point_dataset",
    "normalize_cloud",
    "read_modelnet40_h5",
    "read_npz",
    "read_scanobjectnn",
    "relabel",
]
