// Fields that were renamed: a config file, state file or request that still
// uses the old name is refused (it is not a known field), and the refusal names
// the new one instead of saying only "unknown field".

/** old field name -> new field name, wherever the field appears */
export const RENAMED_FIELDS: Readonly<Record<string, string>> = {
  maglevTableSize: 'lookupTableSize',
};

/** "was renamed to NEW" for a field that was, else undefined. */
export function renamedReason(field: string): string | undefined {
  const now = Object.prototype.hasOwnProperty.call(RENAMED_FIELDS, field) ? RENAMED_FIELDS[field] : undefined;
  return now === undefined ? undefined : `was renamed to ${now}`;
}
