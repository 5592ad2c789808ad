"""maskssl-pointcloud: the point-cloud modality plugin of maskssl (Point-MAE, Point-CMAE).

    maskssl train --modality pointcloud                                 # procedural shapes, CPU
    maskssl train --config configs/pointcloud/shapenet55_point_cmae.yaml  # the paper's recipe, GPU
"""

from maskssl_pointcloud.config import PointDataConfig, PointModelConfig
from maskssl_pointcloud.decoder import PointMAEDecoder
from maskssl_pointcloud.encoder import PointTransformerEncoder
from maskssl_pointcloud.modality import PointCloudModality
from maskssl_pointcloud.pointnet import MiniPointNet

__version__ = "0.1.0"

__all__ = [
    "MiniPointNet",
    "PointCloudModality",
    "PointDataConfig",
    "PointMAEDecoder",
    "PointModelConfig",
    "PointTransformerEncoder",
]
