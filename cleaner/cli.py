"""The command line: a thin shell over the library. The only module that knows click,
tqdm, terminal output and exit statuses.

Exit statuses: 0 every input was cleaned; 1 the run completed but some inputs were
rejected (listed in .cleaner/rejects.jsonl); 2 bad usage, nothing written; 3 the run
failed (e.g. the disk filled) and the output is incomplete; 130 interrupted.
"""

from __future__ import annotations

from pathlib import Path
import sys

import click
from tqdm import tqdm

from . import __version__
from .config import REPAIR_PROFILES, SCOPES, Config
from .errors import CleanerError, ConfigError, OutputError, UsageError
from .pipeline import clean_folder
from .read import measure_folder
from .record import Document

EXIT_REJECTED, EXIT_USAGE, EXIT_FAILED, EXIT_INTERRUPTED = 1, 2, 3, 130


class CleanerFailure(click.ClickException):
    """A library error as a one-line message with the documented exit status."""

    def __init__(self, error: CleanerError) -> None:
        super().__init__(str(error))
        self.exit_code = EXIT_USAGE if isinstance(error, (UsageError, ConfigError)) else EXIT_FAILED


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cleaner")
def main() -> None:
    """Clean and deduplicate text corpora in one streaming pass.

    \b
    Example:
        cleaner clean articles/ cleaned/
    """


@main.command()
@click.argument("src", type=click.Path(path_type=Path))
@click.argument("dst", type=click.Path(path_type=Path))
@click.option("--glob", default="*.txt", show_default=True, help="Which file names under SRC to read.")
@click.option("--scope", type=click.Choice(SCOPES), default="corpus", show_default=True,
              help="Find repeats inside each document only, or across the whole corpus too.")
@click.option("--threshold", type=float, default=0.7, show_default=True,
              help="Jaccard similarity of word n-grams at which a paragraph is a near repeat.")
@click.option("--ngram", type=int, default=3, show_default=True, help="Words per shingle.")
@click.option("--num-perm", type=int, default=128, show_default=True, help="MinHash permutations.")
@click.option("--min-words", type=int, default=5, show_default=True,
              help="Shorter paragraphs are only removed as exact repeats inside one document.")
@click.option("--repair", type=click.Choice(REPAIR_PROFILES), default="safe", show_default=True,
              help="ftfy profile: safe fixes mojibake only; aggressive also folds quotes, widths.")
@click.option("--overwrite", is_flag=True, help="Write into a DST that is not empty.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary.")
def clean(src: Path, dst: Path, overwrite: bool, quiet: bool, **options: object) -> None:
    """Clean every text file under SRC into DST, keeping relative paths.

    Each file is decoded, repaired (ftfy), normalised, split into paragraphs at blank
    lines, and stripped of repeated paragraphs. DST/.cleaner/ receives removed.jsonl
    (every dropped paragraph, why, and the kept copy it repeated), rejects.jsonl,
    files.jsonl, report.json, and _SUCCESS once the run is complete. SRC is never modified.

    \b
    Example:
        cleaner clean articles/ cleaned/ --scope document --threshold 0.8
    """
    try:
        config = Config(**options)  # type: ignore[arg-type]
        report = _clean_with_progress(src, dst, config, overwrite, quiet)
    except CleanerError as err:
        raise CleanerFailure(err) from None
    except KeyboardInterrupt:
        click.echo(f"cleaner: interrupted; {dst} is incomplete (no .cleaner/_SUCCESS)", err=True)
        sys.exit(EXIT_INTERRUPTED)
    if not quiet:
        click.echo(report.summary(), err=True)
    if report.documents_rejected:
        click.echo(f"cleaner: {report.documents_rejected} input(s) rejected, "
                   f"see {dst / '.cleaner' / 'rejects.jsonl'}", err=True)
        sys.exit(EXIT_REJECTED)


def _clean_with_progress(src: Path, dst: Path, config: Config, overwrite: bool, quiet: bool):
    show = not quiet and sys.stderr.isatty()
    files, size = measure_folder(src, config) if show and src.is_dir() else (0, 0)
    with tqdm(total=size, unit="B", unit_scale=True, unit_divisor=1000, disable=not show,
              desc="cleaning", file=sys.stderr) as bar:
        done = 0

        def advance(doc: Document) -> None:
            nonlocal done
            done += 1
            bar.update(doc.bytes_in)
            if doc.reject is not None:
                bar.write(f"cleaner: skipped {doc.source}: {doc.reject.message}", file=sys.stderr)
            bar.set_postfix_str(f"{done}/{files} files", refresh=False)

        return clean_folder(src, dst, config, overwrite=overwrite, on_document=advance)


__all__ = ["main", "OutputError"]
