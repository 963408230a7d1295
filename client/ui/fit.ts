// How many columns of tiles, and how wide, fit a box: the largest 4:3 tiles that fit
// all of them; when even the smallest readable tile does not fit, a strip that
// scrolls (a column in a tall box, a row in a wide one), never an overlap.

export const GAP = 8;
export const MIN_TILE_W = 112;
const ASPECT = 4 / 3;

export interface Fit {
  cols: number;
  width: number;
  /** "false": everything fits; "column": scrolls down; "row": scrolls sideways. */
  scroll: "false" | "column" | "row";
}

/**
 * @param count tiles to place
 * @param boxW the box's inner width, padding included (px)
 * @param boxH the box's inner height, padding included (px)
 * @param strip the box is the strip beside or under a share
 */
export function fitTiles(count: number, boxW: number, boxH: number, strip = false): Fit {
  const w = Math.max(0, boxW - 2 * GAP);
  const h = Math.max(0, boxH - 2 * GAP);
  if (count === 0 || w === 0 || h === 0) return { cols: 1, width: Math.max(w, 0), scroll: "false" };
  let best: Fit = { cols: 1, width: 0, scroll: "false" };
  for (let cols = 1; cols <= count; cols++) {
    const rows = Math.ceil(count / cols);
    const width = Math.floor(
      Math.min((w - GAP * (cols - 1)) / cols, ((h - GAP * (rows - 1)) / rows) * ASPECT),
    );
    if (width > best.width) best = { cols, width, scroll: "false" };
  }
  if (best.width >= MIN_TILE_W) return best;
  if (strip && w > h * 1.5) {
    // A wide, short box (the strip under a share on a phone): one row that scrolls.
    const width = Math.floor(Math.max(h * ASPECT, 48));
    return { cols: count, width, scroll: "row" };
  }
  const cols = Math.max(1, Math.floor((w + GAP) / (MIN_TILE_W + GAP)));
  return { cols, width: Math.floor((w - GAP * (cols - 1)) / cols), scroll: "column" };
}
