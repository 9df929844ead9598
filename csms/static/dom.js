// Two small element builders, so the rest reads as structure. Text always goes in as a text
// node, never as HTML: charger ids and site names come from stations and the database.

const SVG_NS = "http://www.w3.org/2000/svg";

function build(element, attributes, children) {
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value !== null && value !== undefined && value !== false) {
      element.setAttribute(name, String(value));
    }
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export const svg = (tag, attributes, ...children) =>
  build(document.createElementNS(SVG_NS, tag), attributes, children);

export const html = (tag, attributes, ...children) =>
  build(document.createElement(tag), attributes, children);
