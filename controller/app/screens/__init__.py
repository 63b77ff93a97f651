"""The staff console's screens, one module each; the main view is ``controller.app.console``."""

from controller.app.screens.borg import BorgScreen
from controller.app.screens.confirm import Confirm
from controller.app.screens.history import HistoryScreen
from controller.app.screens.note import NoteScreen
from controller.app.screens.patient import PatientScreen
from controller.app.screens.report_chooser import ReportChooser
from controller.app.screens.six_minute import HrMaxProposalScreen
from controller.app.screens.strap import StrapScreen

__all__ = ["BorgScreen", "Confirm", "HistoryScreen", "HrMaxProposalScreen", "NoteScreen",
           "PatientScreen", "ReportChooser", "StrapScreen"]
