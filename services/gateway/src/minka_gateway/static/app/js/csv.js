// Reads a CSV file the way the registry's import does, keeping the physical line each record starts on
// (line 1 is the header), so that the API's per-line errors can be shown next to the right rows.

export function parseCsv(text) {
  const source = text.startsWith('\ufeff') ? text.slice(1) : text;
  const records = [];
  const length = source.length;
  let line = 1;
  let i = 0;
  while (i < length) {
    const start = line;
    const cells = [];
    let cell = '';
    let quoted = false;
    let atCellStart = true;
    for (;;) {
      if (i >= length) {
        cells.push(cell);
        break;
      }
      const c = source[i];
      if (quoted) {
        if (c === '"' && source[i + 1] === '"') {
          cell += '"';
          i += 2;
        } else if (c === '"') {
          quoted = false;
          i += 1;
        } else {
          if (c === '\n' || (c === '\r' && source[i + 1] !== '\n')) line += 1;
          cell += c;
          i += 1;
        }
      } else if (c === '"' && atCellStart) {
        quoted = true;
        atCellStart = false;
        i += 1;
      } else if (c === ',') {
        cells.push(cell);
        cell = '';
        atCellStart = true;
        i += 1;
      } else if (c === '\r' || c === '\n') {
        i += c === '\r' && source[i + 1] === '\n' ? 2 : 1;
        line += 1;
        cells.push(cell);
        break;
      } else {
        cell += c;
        atCellStart = false;
        i += 1;
      }
    }
    records.push({ line: start, cells, blank: cells.every((value) => !value.trim()) });
  }
  return records;
}

/** The text of a file if it is UTF-8, else null (the API accepts UTF-8 only). */
export async function readUtf8(file) {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(await file.arrayBuffer());
  } catch {
    return null;
  }
}
