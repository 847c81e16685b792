/** The name of a list created by an import that named none: `Sales Nav Import - mm/dd/yyyy` (UTC). */
export const defaultListName = (at: Date): string => {
  const mm = String(at.getUTCMonth() + 1).padStart(2, "0")
  const dd = String(at.getUTCDate()).padStart(2, "0")
  return `Sales Nav Import - ${mm}/${dd}/${at.getUTCFullYear()}`
}
