// A table that shows at most PAGE_ROWS rows of a long list, filtered and paged,
// and keeps each shown row's elements from one update to the next (keyed): a
// thousand services or four thousand backends cost the page 200 rows, and a
// button that has the keyboard focus keeps it while the numbers change.

export const PAGE_ROWS = 200;

export interface Column<T> {
  className?: string;
  /** the cell's text, set each update */
  text?(row: T): string;
  /** the cell's content made once per row (buttons); `update` refreshes it */
  make?(row: T, cell: HTMLTableCellElement): void;
  update?(row: T, cell: HTMLTableCellElement): void;
}

interface Shown<T> {
  tr: HTMLTableRowElement;
  cells: HTMLTableCellElement[];
  row: T;
}

export class PagedTable<T> {
  private page = 0;
  private filter = '';
  private rows: readonly T[] = [];
  private readonly shown = new Map<string, Shown<T>>();
  private readonly body: HTMLTableSectionElement;
  private readonly prev: HTMLButtonElement;
  private readonly next: HTMLButtonElement;
  private readonly where: HTMLSpanElement;

  constructor(table: HTMLTableElement, filterInput: HTMLInputElement, pager: HTMLElement, private readonly count: HTMLElement,
              label: string, private readonly key: (row: T) => string,
              private readonly matches: (row: T, filter: string) => boolean, private readonly columns: Column<T>[],
              private readonly rowClass?: (row: T) => string) {
    this.body = table.tBodies[0];
    this.prev = button('Previous page', `Previous page of ${label}`, () => this.turn(-1));
    this.next = button('Next page', `Next page of ${label}`, () => this.turn(1));
    this.where = document.createElement('span');
    this.where.setAttribute('aria-live', 'polite');
    pager.append(this.prev, this.where, this.next);
    filterInput.addEventListener('input', () => {
      this.filter = filterInput.value.trim().toLowerCase();
      this.page = 0;
      this.render();
    });
  }

  set(rows: readonly T[]): void {
    this.rows = rows;
    this.render();
  }

  private turn(by: number): void {
    this.page += by;
    this.render();
  }

  private render(): void {
    const matching = this.filter === '' ? this.rows : this.rows.filter((r) => this.matches(r, this.filter));
    const pages = Math.max(1, Math.ceil(matching.length / PAGE_ROWS));
    this.page = Math.min(Math.max(this.page, 0), pages - 1);
    const from = this.page * PAGE_ROWS;
    const visible = matching.slice(from, from + PAGE_ROWS);

    const wanted = new Set(visible.map(this.key));
    for (const [k, s] of this.shown) {
      if (!wanted.has(k)) {
        s.tr.remove();
        this.shown.delete(k);
      }
    }
    let before: ChildNode | null = this.body.firstChild;
    for (const row of visible) {
      const k = this.key(row);
      let found = this.shown.get(k);
      if (found === undefined) {
        const tr = document.createElement('tr');
        const cells = this.columns.map((c) => {
          const td = document.createElement('td');
          if (c.className) td.className = c.className;
          c.make?.(row, td);
          tr.append(td);
          return td;
        });
        found = { tr, cells, row };
        this.shown.set(k, found);
      }
      const s = found;
      s.row = row;
      this.columns.forEach((c, i) => {
        if (c.text) {
          const t = c.text(row);
          if (s.cells[i].textContent !== t) s.cells[i].textContent = t;
        }
        c.update?.(row, s.cells[i]);
      });
      if (this.rowClass) s.tr.className = this.rowClass(row);
      // Moved only when out of place: moving a row would take the focus from its button.
      if (s.tr !== before) this.body.insertBefore(s.tr, before);
      before = s.tr.nextSibling;
    }

    this.count.textContent = matching.length === this.rows.length
      ? `(${this.rows.length})` : `(${matching.length} of ${this.rows.length} match)`;
    this.where.textContent = `${label(from, visible.length, matching.length)}`;
    this.prev.disabled = this.page === 0;
    this.next.disabled = this.page >= pages - 1;
  }
}

function label(from: number, n: number, total: number): string {
  return total === 0 ? 'none' : `${from + 1}–${from + n} of ${total}`;
}

export function button(text: string, ariaLabel: string, onClick: () => void): HTMLButtonElement {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = text;
  b.setAttribute('aria-label', ariaLabel);
  b.addEventListener('click', onClick);
  return b;
}
