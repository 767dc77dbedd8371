// Size presets per architecture, the aspect lock, and the LoRA tag the picker adds to a prompt (pure).

const SD1 = [[512, 512], [512, 768], [768, 512], [448, 640], [640, 448], [768, 768]];
const SD2 = [[768, 768], [640, 896], [896, 640], [512, 512]];
const SDXL = [[1024, 1024], [832, 1216], [1216, 832], [896, 1152], [1152, 896], [768, 1344], [1344, 768]];
export const PRESETS = { sd1: SD1, sd2: SD2, sdxl: SDXL, 'sdxl-refiner': SDXL, sd3: SDXL, flux: SDXL };

/** The presets of a model's architecture (SD1.x sizes when unknown), as {value: "WxH", label}. */
export function presetsFor(arch) {
  return (PRESETS[arch] ?? SD1).map(([w, h]) => {
    const shape = w === h ? 'square' : w < h ? 'portrait' : 'landscape';
    return { value: `${w}x${h}`, label: `${w} × ${h} (${shape})` };
  });
}

/** A side scaled to keep an aspect ratio, on the multiple-of-8 grid within 64..2048. */
export function lockedSide(otherSide, ratio) {
  const value = Math.round(Number(otherSide) * ratio / 8) * 8;
  return Math.min(2048, Math.max(64, value));
}

/** "<lora:name:0.8>" added to a prompt (a separating comma and space when it has text). */
export function addLoraTag(prompt, name, weight) {
  const tag = `<lora:${name}:${Number(weight).toFixed(2).replace(/\.?0+$/, '') || '0'}>`;
  const text = (prompt ?? '').trimEnd();
  return text ? `${text.replace(/,$/, '')}, ${tag}` : tag;
}
