"""Reading a /q2c/metrics page in tests: samples by name and labels."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Samples:
    values: dict[tuple[str, Labels], float]

    def matching(self, name: str, **labels: str) -> dict[Labels, float]:
        """The samples called ``name`` whose labels include ``labels``, by all their labels."""
        wanted = set(labels.items())
        return {
            have: value
            for (sample, have), value in self.values.items()
            if sample == name and wanted <= set(have)
        }

    def total(self, name: str, **labels: str) -> float:
        """The sum of the matching samples (0 when there is none)."""
        return sum(self.matching(name, **labels).values())

    def value(self, name: str, **labels: str) -> float:
        """The one sample with exactly these labels (0 when absent, as a counter not yet
        incremented is)."""
        return self.values.get((name, tuple(sorted(labels.items()))), 0.0)


def parse_samples(text: str) -> Samples:
    values = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    return Samples(values)
