"""`levlab csv` and `trend` at the edge: their options into CsvOptions, the input opened (a long
export from stdin or a pipe read from a temporary copy: levlab.stdin_spool; a regular file read
again for grouping), and the chosen output format written. The command line (cli.py) wires
these; the exports package does the work.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import IO, Any

import click

from levlab import config
from levlab.language import language


def csv_options(layout: str | None, delimiter: str | None, tabs: bool, decimal: str | None, na: tuple[str, ...],
                 cols: tuple[str, ...], maps: tuple[str, ...], ranges: tuple[str, ...], group_by: tuple[str, ...],
                 ranges_file: str | None, skip_lines: int, strict: bool = False, sheet: str | None = None,
                 codes_file: str | None = None) -> Any:
    """The shared CSV options of `csv` and `trend`, checked by exports.CsvOptions."""
    from levlab import exports
    from levlab.exports.names import read_codes

    settings = config.in_force()
    return exports.CsvOptions(layout=layout, delimiter="\t" if tabs else delimiter, decimal=decimal, na=na,
                              cols=cols, maps=maps, ranges=ranges, group_by=group_by, strict=strict,
                              table=config.interval_table(ranges_file, settings), skip_lines=skip_lines, sheet=sheet,
                              configured_units=settings.unit_per_analyte(),
                              codes=read_codes(codes_file) if codes_file else ())


@contextlib.contextmanager
def export_run(file: str, binary: IO[bytes], options: Any, encoding: str, progress: Any) -> Iterator[tuple[Any, Any]]:
    """(the opened input, its ExportRun). A long export from stdin or a pipe is read from a
    temporary copy, so that its samples are grouped as a file's are (levlab.stdin_spool)."""
    from levlab import exports
    from levlab.stdin_spool import StdinSpool

    spool = StdinSpool.for_input(file, binary)
    try:
        opened = exports.open_records(spool.stream if spool else binary, options, encoding, progress, input_name(file))
        again = file_again(file, options, encoding)
        run = exports.ExportRun(opened.records, options, *again)
        if again[0] is not None:
            run.path = file  # a regular file: a large wide one may be read by several processes (exports.processes)
        if spool is not None and run.layout.kind == "long" and not getattr(run.records, "grouped", False):
            path = spool.keep()
            with open(path, "rb") as copy:
                opened = exports.open_records(copy, options, encoding, None, input_name(file))
                run = exports.ExportRun(opened.records, options, *file_again(path, options, encoding, input_name(file)))
                yield opened, run
                return
        if spool is not None:
            spool.drop()  # a wide export (or FHIR, grouped already) streams on
        yield opened, run
    finally:
        if spool is not None:
            spool.drop()


def file_again(file: str, options: Any, encoding: str, name: str | None = None) -> tuple[Any, Any]:
    """How to read a regular file again: its records (a long export's samples are then grouped
    wherever their rows are: levlab.exports.grouping) and its raw bytes (scanned for both decimal
    marks: levlab.exports.marks); (None, None) for stdin, a pipe or a device, which are read once."""
    import stat

    if file == "-":
        return None, None
    try:
        if not stat.S_ISREG(os.stat(file).st_mode):
            return None, None
    except OSError:
        return None, None

    @contextlib.contextmanager
    def records() -> Iterator[Any]:
        from levlab import exports
        from levlab.outfile import open_input

        with closing_input(open_input(file)) as binary:
            yield exports.open_records(binary, options, encoding, None, name or input_name(file)).records

    def raw() -> Iterator[bytes]:
        from levlab.exports.marks import line_blocks

        with open(file, "rb") as binary:
            yield from line_blocks(binary)

    return records, raw


def input_name(file: str) -> str:
    """How messages name the input."""
    return "stdin" if file == "-" else file


def check_output(file: str, output: str, output_format: str, dry_run: bool) -> None:
    """Usage errors of -o before any reading: the input itself, a workbook for a text format, a
    file that cannot be written (not asked of --dry-run, which writes nothing)."""
    from levlab.errors import UsageError
    from levlab.outfile import output_problem, same_file

    if same_file(file, output):
        raise UsageError(f"-o {output} is the input file{' (stdin)' if file == '-' else ''}: write to another file")
    if output.casefold().endswith(".xlsx") and output_format != "csv":
        raise UsageError(f"-o {output} writes an Excel workbook, which holds the rows (--format csv); "
                         f"--format {output_format} writes text: give another file name")
    problem = None if dry_run else output_problem(output)
    if problem is not None:
        raise UsageError(f"cannot write -o {output}: {problem}")


def write_output(run: Any, opened: Any, output: str, output_format: str, *, excel_safe: bool, lang: str) -> None:
    """Run the export into -o (stdout by default): a workbook for FILE.xlsx, else the chosen text
    format (a CSV keeps the input's UTF-8 BOM). A --strict stop is said, after what was written."""
    from levlab import exports
    from levlab.outfile import text_output

    workbook = output_format == "csv" and output.casefold().endswith(".xlsx")
    with text_output(output, bom=opened.bom and output_format == "csv" and not workbook) as stream:
        try:
            if workbook:
                write_workbook(run, opened, stream)
            else:
                write_csv_run(run, output_format, stream, excel_safe=excel_safe, lang=lang)
        except exports.StrictStop as stop:
            click.echo(f"Error: {stop}", err=True)


def write_csv_run(run: Any, output_format: str, stream: IO[str], *, excel_safe: bool = False, lang: str = "en") -> None:
    """Hand the run to the writer of the chosen format."""
    from levlab import exports

    if output_format == "csv":
        run.run(exports.CsvSink(stream, run.dialect, excel_safe=excel_safe))
    elif output_format == "jsonl":
        run.run(exports.JsonlSink(stream))
    elif output_format == "fhir":
        from levlab.exports.fhir_sink import FhirSink

        sink = FhirSink(stream, run.layout)
        try:
            run.run(sink)
        finally:  # panels before a --strict stop still make a valid Bundle
            sink.finish()
    else:
        from levlab.render import make_console, print_csv_panels
        from levlab.summary_view import load_views, to_a_terminal, write_summary

        collected = exports.CollectSink()
        if to_a_terminal(stream):  # rich prints the summary: loaded while worker processes count (exports.table_pieces)
            collected.while_waiting = load_views
        run.run(collected)
        reader = language(lang)
        if collected.small:
            print_csv_panels(collected.panels, make_console(stream), reader)
        else:
            write_summary(collected, stream, reader)


def write_workbook(run: Any, opened: Any, stream: IO[str]) -> None:
    """`-o out.xlsx`: the rows into a workbook, its report sheet written once the run is done."""
    from levlab import exports
    from levlab.exports.xlsx_sink import XlsxSink

    sheet = getattr(getattr(opened.records, "sheet", None), "title", "levlab")
    sink = XlsxSink(run.layout.width, sheet)
    try:
        run.run(sink)
    except exports.StrictStop as stop:
        click.echo(f"Error: {stop}", err=True)
    stream.flush()
    sink.finish(run.report, run.closing_lines(), run.options.table, stream.buffer)


@contextlib.contextmanager
def closing_input(binary: IO[bytes]) -> Iterator[IO[bytes]]:
    """The input stream, closed afterwards unless it is stdin."""
    try:
        yield binary
    finally:
        if binary is not sys.stdin.buffer:
            binary.close()


@contextlib.contextmanager
def progress(file: str) -> Iterator[Any]:
    """A progress callback (bytes read) when stderr is a terminal and the input a regular file
    (a named pipe has no size to show progress against); else None."""
    import stat

    if file == "-" or not sys.stderr.isatty() or not stat.S_ISREG(os.stat(file).st_mode):
        yield None
        return
    with click.progressbar(length=os.path.getsize(file), label="levlab csv", file=sys.stderr) as bar:
        done = [0]

        def update(position: int) -> None:
            bar.update(position - done[0])
            done[0] = position

        yield update
