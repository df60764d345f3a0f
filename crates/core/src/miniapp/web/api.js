// The cabinet's API (/api/v1/app/), every call with `Authorization: tma <initData>`.

import { initData } from './telegram.js';

export const PREFIX = '/api/v1/app/';

/** A refusal or a failure: the HTTP status (0: the network) and the API's error code. */
export class ApiError extends Error {
  constructor(status, code, body) {
    super(code);
    this.status = status;
    this.code = code;
    this.body = body || {};
  }
}

function headers(extra) {
  return { Authorization: `tma ${initData()}`, ...extra };
}

/** Calls `path` (relative to the API's prefix, or an absolute path such as a pdf_url) → JSON. */
export async function api(path, { method = 'GET', body } = {}) {
  const response = await send(path, method, body);
  let json = null;
  const type = response.headers.get('content-type') || '';
  if (type.includes('application/json')) {
    try {
      json = await response.json();
    } catch {
      json = null;
    }
  }
  if (!response.ok) {
    const code = json && typeof json.error === 'string' ? json.error : `http_${response.status}`;
    throw new ApiError(response.status, code, json);
  }
  if (json === null) throw new ApiError(response.status, 'not_json');
  return json;
}

/** Downloads `path` as a Blob with its file name (Content-Disposition). */
export async function download(path) {
  const response = await send(path, 'GET');
  if (!response.ok) {
    let json = null;
    try {
      json = await response.json();
    } catch {
      json = null;
    }
    throw new ApiError(response.status, json && json.error ? json.error : `http_${response.status}`, json);
  }
  const disposition = response.headers.get('content-disposition') || '';
  const match = /filename="?([^";]+)"?/i.exec(disposition);
  return { blob: await response.blob(), name: match ? match[1] : 'document.pdf' };
}

async function send(path, method, body) {
  const url = path.startsWith('/') ? path : PREFIX + path;
  const init = { method, headers: headers(body === undefined ? {} : { 'Content-Type': 'application/json' }) };
  if (body !== undefined) init.body = JSON.stringify(body);
  init.credentials = 'omit';
  init.cache = 'no-store';
  try {
    return await fetch(url, init);
  } catch {
    throw new ApiError(0, 'network');
  }
}

/** A fresh idempotency key (32 characters of [0-9a-f]). */
export function newKey() {
  if (window.crypto && crypto.getRandomValues) {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }
  return `${Date.now().toString(16)}${Math.random().toString(16).slice(2)}`.slice(0, 32).padEnd(16, '0');
}
