// A string made by concatenation is, in V8, a tree of the pieces joined until
// something needs its characters in one run; it then stays a tree unless
// flattened. A text kept as long as its object lives (a view's kept part, a
// backend's key) is flattened once, when it is made: thousands of such trees
// cost the collector an object per piece on every full mark, and every reader
// (a join, a socket write) a walk of the tree.

/** `text`, its characters in one run from now on (the same string). */
export function flattened(text: string): string {
  // V8 flattens a string it is asked a character of (String::Flatten).
  text.charCodeAt(0);
  return text;
}
