/** URLs of the scratch databases the tests clone on a real PostgreSQL. */

export const withDatabase = (url: string, database: string): string => {
  const u = new URL(url)
  u.pathname = `/${database}`
  return u.toString()
}

/** The server's maintenance database, to create and drop others from. */
export const adminUrl = (url: string): string => withDatabase(url, "postgres")
