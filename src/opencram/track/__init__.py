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
- :mod:`~opencram.track.noise`: the online estimate of each sensor's measurement noise;
- :mod:`~opencram.track.lock`: loss-of-lock tests (SNR run, silence, residual CUSUM);
- :mod:`~opencram.track.tracks`: the table of live tracks and the log of every update;
- :mod:`~opencram.track.history`: the update log read back per confirmed track;
- :mod:`~opencram.track.classify`: rocket, mortar, artillery, aircraft, drone or unknown
  from kinematics;
- ``_kernels``: the numba loops of the ballistic model, imported only when first used.

The classifier's function ``classify`` is not exported here: it has the name of its module,
and binding it on the package would hide :mod:`opencram.track.classify`. Use
``from opencram.track.classify import classify``.

Exported here, lazily (each name's module is imported when the name is first used,
:mod:`opencram.lazy`), so that importing one module of the tracker does not load the
others (nor scipy through the associator).
"""

from opencram.lazy import lazy_exports

_EXPORTS = {
    "Assignment": "opencram.track.association",
    "GNNAssociator": "opencram.track.association",
    "PlotBuffer": "opencram.track.buffer",
    "ckf_predict": "opencram.track.ckf",
    "ckf_update": "opencram.track.ckf",
    "cubature_points": "opencram.track.ckf",
    "BALLISTIC_CLASSES": "opencram.track.classify",
    "CLASSES": "opencram.track.classify",
    "TrackerConfig": "opencram.track.config",
    "TrackerSensor": "opencram.track.config",
    "Deleter": "opencram.track.deleter",
    "ekf_update": "opencram.track.ekf",
    "CKFFilter": "opencram.track.filters",
    "EKFFilter": "opencram.track.filters",
    "IMMFilter": "opencram.track.filters",
    "TrackFilter": "opencram.track.filters",
    "make_filter": "opencram.track.filters",
    "confirmed_updates": "opencram.track.history",
    "track_classes": "opencram.track.history",
    "IMM": "opencram.track.imm",
    "lock_step": "opencram.track.lock",
    "NoiseEstimator": "opencram.track.noise",
    "SensorNoise": "opencram.track.noise",
    "TwoPointInitiator": "opencram.track.initiator",
    "JPDAAssociator": "opencram.track.jpda",
    "Tracker": "opencram.track.manager",
    "innovation": "opencram.track.measurement",
    "measurement_jacobian": "opencram.track.measurement",
    "noise_cov": "opencram.track.measurement",
    "predict_measurement": "opencram.track.measurement",
    "BallisticModel": "opencram.track.models",
    "ConstantVelocityModel": "opencram.track.models",
    "CoordinatedTurnModel": "opencram.track.models",
    "propagate_ekf": "opencram.track.models",
    "propagate_to_height": "opencram.track.models",
    "tracker_sensors_from_specs": "opencram.track.sensors",
    "CONFIRMED": "opencram.track.tracks",
    "TENTATIVE": "opencram.track.tracks",
    "TrackTable": "opencram.track.tracks",
    "TrackUpdate": "opencram.track.tracks",
    "UpdateLog": "opencram.track.tracks",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
