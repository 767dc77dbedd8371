// The text chunks of a PNG (tEXt, iTXt, and zTXt where the platform can inflate): where AUTOMATIC1111 and
// sdqueue keep the "parameters" infotext. Pure apart from DecompressionStream (browsers, Node 18+).

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

async function inflate(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** {keyword: text} of every text chunk; throws on a file that is not a PNG. */
export async function readPngText(buffer) {
  const bytes = new Uint8Array(buffer);
  if (!SIGNATURE.every((value, i) => bytes[i] === value)) throw new Error('not a PNG file');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const latin1 = new TextDecoder('latin1');
  const utf8 = new TextDecoder('utf-8');
  const found = {};
  let at = 8;
  while (at + 8 <= bytes.length) {
    const length = view.getUint32(at);
    const type = latin1.decode(bytes.subarray(at + 4, at + 8));
    const data = bytes.subarray(at + 8, at + 8 + length);
    at += 12 + length;
    if (type === 'IEND') break;
    const nul = data.indexOf(0);
    if (nul < 0) continue;
    const keyword = latin1.decode(data.subarray(0, nul));
    if (type === 'tEXt') found[keyword] = latin1.decode(data.subarray(nul + 1));
    else if (type === 'zTXt') found[keyword] = latin1.decode(await inflate(data.subarray(nul + 2)));
    else if (type === 'iTXt') {
      const compressed = data[nul + 1] === 1;
      let p = nul + 3;
      p = data.indexOf(0, p) + 1; // language tag
      p = data.indexOf(0, p) + 1; // translated keyword
      const text = data.subarray(p);
      found[keyword] = utf8.decode(compressed ? await inflate(text) : text);
    }
  }
  return found;
}
