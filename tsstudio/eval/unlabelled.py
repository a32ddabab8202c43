"""What evaluation does for a dataset without class labels, and the notes that say why.

Probes and CAS need labels and are skipped (their results are None, with a note). FID and IS
need a trained classifier's features and class probabilities: for unlabelled data the
evaluation FCN is trained on k-means clusters of the train series instead (the same clusters for
every prior of the dataset, so its priors stay comparable), and the results say so.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tsstudio.data.dataset import Dataset

PROBES_NOTE = "the dataset has no class labels: the SVM and KNN probes do not apply"
CAS_NOTE = "the dataset has no class labels: CAS (classification accuracy of samples per class) does not apply"
GUIDANCE_NOTE = "guidance does not apply: the prior was trained without class labels and samples unconditionally"
MAX_CLUSTERS = 8


def cluster_note(k: int) -> str:
    return (f"the dataset has no class labels: the FID/IS classifier is trained on k-means clusters "
            f"(k={k}) of the train series")


def with_cluster_labels(dataset: Dataset, seed: int = 0) -> Dataset:
    """The dataset with k-means cluster ids of its series as class labels (train fit, test assigned)."""
    from sklearn.cluster import KMeans

    k = max(2, min(MAX_CLUSTERS, dataset.n_train // 2))
    kmeans = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(dataset.x_train.astype(np.float64))
    y_train = kmeans.labels_.astype(np.int64)
    y_test = kmeans.predict(dataset.x_test.astype(np.float64)).astype(np.int64)
    return dataclasses.replace(dataset, y_train=y_train, y_test=y_test, class_labels=tuple(range(k)), labelled=True)
