"""The real series shipped in `sample_data/`, with the settings that suit each."""
from __future__ import annotations

import pathlib
from dataclasses import dataclass

SAMPLE_DIR = pathlib.Path(__file__).resolve().parents[2] / "sample_data"


@dataclass(frozen=True)
class Sample:
    key: str
    label: str
    filename: str
    units: str
    window: int  # a window that suits the series' period and length
    description: str

    @property
    def path(self) -> pathlib.Path:
        return SAMPLE_DIR / self.filename


SAMPLES: dict[str, Sample] = {s.key: s for s in (
    Sample("power_load", "Power load, England & Wales (30 min)", "power_load_taylor_england_wales_30min.csv", "MW", 48,
           "Electricity demand, June to August 2000 (Taylor 2003): daily and weekly cycles."),
    Sample("net_traffic", "Internet traffic, transatlantic ISP link (5 min)", "net_traffic_isp_eu_transatlantic_5min.csv",
           "bits per 5 min", 48, "ISP backbone traffic, June to July 2005 (Cortez et al. 2012, series A5M)."),
    Sample("airline", "Airline passengers (monthly)", "airline_passengers_monthly.csv", "thousands", 12,
           "Box & Jenkins series G, 1949-1960: trend and yearly seasonality; short (144 values)."),
    Sample("sunspots", "Sunspot number (monthly)", "sunspots_monthly_1749_1983.csv", "count", 48,
           "Monthly mean relative sunspot number, 1749-1983: an irregular 11-year cycle."),
)}
DEFAULT_SAMPLE = "power_load"
