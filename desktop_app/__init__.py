"""共济前台 Gongji Front Desk: outpatient mutual-aid settlement at the counter."""

__version__ = "0.1.0"
