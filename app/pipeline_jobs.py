"""Training and pose estimation from the window: dialogs, then the gmdesk CLI in a child process run
by the window's :class:`~app.jobs.JobOwner` (progress, ETA, the one Cancel button)."""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtWidgets

from app.jobs import JobBusyError, JobRunner

#: The train dialog's first choice: no ``--classifier`` (nested selection on the cohort's own infants).
CHOOSE_ON_COHORT = "choose on the cohort's infants (nested selection)"


class PipelineJobs:
    """Starts the long pipeline steps of ``window`` (which provides ``jobs``, ``status``, ``error``,
    ``set_model``, ``open_path`` and ``tabs``)."""

    def __init__(self, window) -> None:
        self.window = window

    def train_dialog(self) -> None:
        """Ask for a cohort table, classifier and output folder, then train in a child process."""
        w = self.window
        cohort, _ = QtWidgets.QFileDialog.getOpenFileName(w, "Cohort table", "", "Cohort (*.csv)")
        if not cohort:
            return
        from gmdesk.learning.architectures import ARCHITECTURES, DEFAULT_CLASSIFIER

        names = [CHOOSE_ON_COHORT, DEFAULT_CLASSIFIER] + [a for a in ARCHITECTURES if a != DEFAULT_CLASSIFIER]
        arch, ok = QtWidgets.QInputDialog.getItem(
            w, "Classifier", "Classifier (the first, the default: the recipe chosen on the cohort's own infants):",
            names, 0, False)
        if not ok:
            return
        out = QtWidgets.QFileDialog.getExistingDirectory(w, "Folder to write the model bundle in", "models")
        if out:
            chosen = None if arch == CHOOSE_ON_COHORT else arch
            self.start_training(cohort, chosen, str(Path(out) / f"{chosen or 'selected'}-{Path(cohort).parent.name}"))

    def start_training(self, cohort: str, architecture: str | None, output: str, extra: list[str] | None = None):
        """Train ``architecture`` (None: the recipe ``gmdesk train`` chooses on the cohort's infants) on ``cohort``
        into bundle ``output`` with progress, ETA and cancel."""
        w = self.window

        def finished(last: str) -> None:
            w.set_model(output)
            w.status.showMessage(f"trained {output}: {last}")

        w.tabs.setCurrentIndex(1)
        recipe = ["--classifier", architecture] if architecture else []
        return self.run(["train", cohort, *recipe, "-o", output, *(extra or [])],
                        f"training {architecture or 'a recipe chosen on the cohort'}", finished)

    def pose_dialog(self, video: str | Path | None = None) -> None:
        """Ask for video, DeepLabCut model and settings, then estimate pose in a child process."""
        from app.pose_dialog import PoseDialog

        dlg = PoseDialog(video, self.window)
        if dlg.exec() == QtWidgets.QDialog.DialogCode.Accepted:
            out, args = dlg.args()
            self.start_pose_estimation(Path(dlg.video.text()), args, out)

    def start_pose_estimation(self, video: Path, args: list[str], output: Path):
        """Run ``gmdesk pose`` (``args``) in a child process; when it finishes, open ``output``
        with the video (a case is created beside it and cleaned). Cancel writes nothing."""
        w = self.window

        def finished(last: str) -> None:
            if w.open_path(output, video):
                w.status.showMessage(f"pose estimated: {last}")

        return self.run(args, f"pose estimation of {video.name}", finished)

    def run(self, args: list[str], label: str, on_finished):
        """A gmdesk CLI command in a child process; ``on_finished(last line it printed)`` on success.
        Returns the :class:`JobRunner` (None if another job is running)."""
        w = self.window
        title = label[0].upper() + label[1:]

        def finished(out: str) -> None:
            out = (out or "").strip()
            on_finished(out.splitlines()[-1] if out else "done")

        def failed(msg: str) -> None:
            if msg == "cancelled":
                w.status.showMessage(f"{label} cancelled; nothing was written")
            else:
                w.error(f"{title} failed", msg)

        job = JobRunner(args, w)
        try:
            return w.jobs.start(job, label, finished, failed)
        except JobBusyError as exc:
            job.deleteLater()
            w.error(f"{title} not started", str(exc))
            return None
