"""Track: the fourth link of the chain, plots from every radar fused into tracks. A
multi-target tracker batched over tracks, built from components in Stone Soup's
vocabulary (filter, associator, initiator, deleter), with motion models for ballistic
rounds, drones and aircraft, and a classification of each track.

- :mod:`~opencram.track.manager`: the :class:`Tracker`: queued plots processed in windows
  of measurement time, sensor by sensor (associate, update, start tracks, delete);
- :mod:`~opencram.track.config`: what the tracker is told (``TrackerSensor``,
  ``TrackerConfig``);
- :mod:`~opencram.track.sensors`: the tracker's sensors built from sensor specs;
- :mod:`~opencram.track.buffer`: the input queue, handing out whole windows of plots;
- :mod:`~opencram.track.models`: ballistic (with an estimated drag parameter), nearly
  constant velocity and coordinated-turn motion models;
- :mod:`~opencram.track.measurement`: range, azimuth, elevation and range rate of a state,
  their Jacobian and noise;
- :mod:`~opencram.track.filters`: the EKF, CKF and IMM filters behind one protocol;
- :mod:`~opencram.track.ekf`, :mod:`~opencram.track.ckf`, :mod:`~opencram.track.imm`: the
  extended Kalman update (Joseph form), the cubature Kalman filter and the IMM;
- :mod:`~opencram.track.association`: chi-square gating and global nearest neighbour;
- :mod:`~opencram.track.jpda`: joint probabilistic data association by belief propagation;
- :mod:`~opencram.track.initiator`: two-point track start with a speed and Doppler check;
- :mod:`~opencram.track.deleter`: deletion of unconfirmed, coasted, landed and duplicate
  tracks;
- :mod:`~opencram.track.tracks`: the table of live tracks and the log of every update;
- :mod:`~opencram.track.history`: the update log read back per confirmed track;
- :mod:`~opencram.track.classify`: rocket, mortar, artillery, aircraft, drone or unknown
  from kinematics;
- ``_kernels``: the numba loops of the ballistic model, imported only when first used.

The classifier's function ``classify`` is not exported here: it has the name of its module,
and binding it on the package would hide :mod:`opencram.track.classify`. Use
``from opencram.track.classify import classify``.
"""

from opencram.track.association import Assignment, GNNAssociator
from opencram.track.buffer import PlotBuffer
from opencram.track.ckf import ckf_predict, ckf_update, cubature_points
from opencram.track.classify import BALLISTIC_CLASSES, CLASSES
from opencram.track.config import TrackerConfig, TrackerSensor
from opencram.track.deleter import Deleter
from opencram.track.ekf import ekf_update
from opencram.track.filters import CKFFilter, EKFFilter, IMMFilter, TrackFilter, make_filter
from opencram.track.history import confirmed_updates, track_classes
from opencram.track.imm import IMM
from opencram.track.initiator import TwoPointInitiator
from opencram.track.jpda import JPDAAssociator
from opencram.track.manager import Tracker
from opencram.track.measurement import (
    innovation,
    measurement_jacobian,
    noise_cov,
    predict_measurement,
)
from opencram.track.models import (
    BallisticModel,
    ConstantVelocityModel,
    CoordinatedTurnModel,
    propagate_ekf,
    propagate_to_height,
)
from opencram.track.sensors import tracker_sensors_from_specs
from opencram.track.tracks import CONFIRMED, TENTATIVE, TrackTable, TrackUpdate, UpdateLog

__all__ = [
    "BALLISTIC_CLASSES",
    "CLASSES",
    "CONFIRMED",
    "IMM",
    "TENTATIVE",
    "Assignment",
    "BallisticModel",
    "CKFFilter",
    "ConstantVelocityModel",
    "CoordinatedTurnModel",
    "Deleter",
    "EKFFilter",
    "GNNAssociator",
    "IMMFilter",
    "JPDAAssociator",
    "PlotBuffer",
    "TrackFilter",
    "TrackTable",
    "TrackUpdate",
    "Tracker",
    "TrackerConfig",
    "TrackerSensor",
    "TwoPointInitiator",
    "UpdateLog",
    "ckf_predict",
    "ckf_update",
    "confirmed_updates",
    "cubature_points",
    "ekf_update",
    "innovation",
    "make_filter",
    "measurement_jacobian",
    "noise_cov",
    "predict_measurement",
    "propagate_ekf",
    "propagate_to_height",
    "track_classes",
    "tracker_sensors_from_specs",
]
