/**
 * The recurrent cells rnn trains, under one name each: `simplernn`, `lstm`, `gru` (as `--cell` spells them).
 * The Keras/tfjs layer class and the number of gate blocks are facts of the cell, kept here beside its name.
 */

export const CELLS = ['simplernn', 'lstm', 'gru'] as const;
export type CellType = (typeof CELLS)[number];

/** The tfjs-layers (and Keras) class of each cell's recurrent layer; rnn's oneDNN kernels take the same names. */
export const LAYER_CLASS = { simplernn: 'SimpleRNN', lstm: 'LSTM', gru: 'GRU' } as const satisfies Record<CellType, string>;
export type LayerClass = (typeof LAYER_CLASS)[CellType];

/** Gate blocks per cell in a recurrent kernel's columns (LSTM i, f, c, o; GRU z, r, h). */
export const GATES: Record<CellType, number> = { simplernn: 1, lstm: 4, gru: 3 };

/** The cell whose recurrent layer has this class name (undefined for any other layer). */
export function cellOfLayerClass(className: string): CellType | undefined {
  return CELLS.find((c) => LAYER_CLASS[c] === className);
}

export function isCell(value: string): value is CellType {
  return (CELLS as readonly string[]).includes(value);
}

/** What the dense layer reads of the recurrent layer: its last state (the lesson's), or its outputs' maximum or mean over time. */
export const POOLINGS = ['last', 'max', 'mean'] as const;
export type Pooling = (typeof POOLINGS)[number];

/** The Keras/tfjs class of each pooling's layer (`last` has none: the recurrent layer returns its last state). */
export const POOLING_LAYER = { max: 'GlobalMaxPooling1D', mean: 'GlobalAveragePooling1D' } as const satisfies Record<
  Exclude<Pooling, 'last'>,
  string
>;
