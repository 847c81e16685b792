// @ts-check
/**
 * A few DOM helpers. Everything the console shows from the API (lead names, error messages,
 * run ids) goes in as text, never as HTML: a name from LinkedIn cannot become markup.
 */

/**
 * The element with this id (the page's markup is fixed, so a missing one is a bug).
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new () => T} type
 * @returns {T}
 */
export const byId = (id, type) => {
  const element = document.getElementById(id)
  if (!(element instanceof type)) throw new Error(`#${id} is missing or not a ${type.name}`)
  return element
}

/**
 * A new element: `h("p", { class: "hint" }, "text", child)`.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, string | boolean | undefined>} [attributes]
 * @param {Array<Node | string>} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export const h = (tag, attributes = {}, ...children) => {
  const element = document.createElement(tag)
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === undefined) continue
    element.setAttribute(name, value === true ? "" : value)
  }
  element.append(...children)
  return element
}

/** Sets an element's text, touching the DOM only when it changes. @param {Element} element @param {string} text */
export const setText = (element, text) => {
  if (element.textContent !== text) element.textContent = text
}

/** Says something to screen readers through the page's polite live region. @param {string} text */
export const announce = (text) => {
  const region = byId("announcer", HTMLElement)
  region.textContent = ""
  // A fresh node per message, so the same words twice are announced twice.
  region.append(h("span", {}, text))
}
