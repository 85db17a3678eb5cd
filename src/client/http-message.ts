/**
 * OData's status monitor may answer, once done, `200 OK` with `Content-Type: application/http` and the final
 * response embedded as an HTTP/1.1 message (OData 4.01 Part 1 §9.1.3, "the body contains the response to the
 * original request"; the media type is RFC 9112 §10.1's `application/http`):
 *
 *   HTTP-message = start-line CRLF *( field-line CRLF ) CRLF [ message-body ]
 *   status-line  = HTTP-version SP status-code SP [ reason-phrase ]
 */

const STATUS_LINE = /^HTTP\/\d(?:\.\d)? (\d{3})(?: ([^\r\n]*))?$/;

/** The embedded response, or undefined when `bytes` is not an HTTP response message. */
export function parseHttpResponseMessage(bytes: Uint8Array): Response | undefined {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  const crlf = text.indexOf('\r\n\r\n');
  const lf = text.indexOf('\n\n');
  // RFC 9112 §2.2: a recipient MAY recognise a bare LF as a line terminator.
  const [end, sep] = crlf >= 0 && (lf < 0 || crlf < lf) ? [crlf, 4] : lf >= 0 ? [lf, 2] : [text.length, 0];
  const lines = text.slice(0, end).split(/\r?\n/);
  const status = STATUS_LINE.exec(lines[0] ?? '');
  if (!status) return undefined;
  const code = Number(status[1]);
  if (code < 200 || code > 599) return undefined;
  const headers = new Headers();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) return undefined;
    try {
      headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    } catch {
      return undefined;
    }
  }
  const body = sep === 0 ? new Uint8Array(0) : bytes.subarray(end + sep);
  const nullBody = code === 204 || code === 205 || code === 304;
  return new Response(nullBody ? null : body, { status: code, statusText: status[2] ?? '', headers });
}
