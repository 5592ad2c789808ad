"""Point-cloud datasets: procedural shapes (offline default), readers of the common file layouts, and a
folder of the user's own point files and meshes."""

from maskssl_pointcloud.data.arrays import PointArrayDataset, normalize_cloud, relabel
from maskssl_pointcloud.data.build import build_point_dataset
from maskssl_pointcloud.data.files import ShapeNet55, read_modelnet40_h5, read_npz, read_scanobjectnn
from maskssl_pointcloud.data.folder import FolderClouds
from maskssl_pointcloud.data.mesh_formats import Shape, read_shape
from maskssl_pointcloud.data.procedural import SHAPES, ProceduralShapes

__all__ = [
    "SHAPES",
    "FolderClouds",
    "PointArrayDataset",
    "ProceduralShapes",
    "Shape",
    "ShapeNet55",
    "build_point_dataset",
    "normalize_cloud",
    "read_modelnet40_h5",
    "read_npz",
    "read_scanobjectnn",
    "read_shape",
    "relabel",
]
