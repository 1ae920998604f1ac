// IP address and CIDR helpers shared by the rules engine (fd.net / fd.snet ... comparisons, hot
// path: ipv4ToInt allocates nothing) and the policy layer (network rules validated, normalised and
// packed into the enforcer's map rows). One parser for both: an address is dotted IPv4 or IPv6
// text (brackets and a %zone suffix are accepted and ignored, an IPv4 tail as in ::ffff:1.2.3.4
// too), optionally followed by /PREFIX; a bare address is a host network (/32 or /128). An IPv4
// network with a leading zero in an octet is refused.

/** Parses dotted IPv4 without allocating; -1 when not an IPv4 address. */
export function ipv4ToInt(s: string): number {
  let acc = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return -1;
    } else if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      acc = acc * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else return -1;
  }
  if (dots !== 3 || digits === 0) return -1;
  return acc * 256 + part;
}

/** IPv6 text as 8 16-bit words; undefined when not an IPv6 address. */
export function ipv6Words(s: string): number[] | undefined {
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  const pct = s.indexOf('%');
  if (pct >= 0) s = s.slice(0, pct);
  if (!s.includes(':')) return undefined;
  const lastColon = s.lastIndexOf(':');
  const last = s.slice(lastColon + 1);
  if (last.includes('.')) {
    const v4 = ipv4ToInt(last);
    if (v4 < 0) return undefined;
    s = s.slice(0, lastColon + 1) + Math.floor(v4 / 65536).toString(16) + ':' + (v4 % 65536).toString(16);
  }
  const dbl = s.indexOf('::');
  if (dbl !== s.lastIndexOf('::') && dbl >= 0) return undefined;
  const parse = (t: string): number[] | undefined => {
    if (t === '') return [];
    const out: number[] = [];
    for (const h of t.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(h)) return undefined;
      out.push(parseInt(h, 16));
    }
    return out;
  };
  let words: number[];
  if (dbl >= 0) {
    const head = parse(s.slice(0, dbl));
    const rest = parse(s.slice(dbl + 2));
    if (!head || !rest) return undefined;
    const fill = 8 - head.length - rest.length;
    if (fill < 0) return undefined;
    words = [...head, ...new Array<number>(fill).fill(0), ...rest];
  } else {
    const all = parse(s);
    if (!all) return undefined;
    words = all;
  }
  return words.length === 8 ? words : undefined;
}

/** RFC 5952 text of 16 address bytes (lower case, longest run of two or more zero groups as ::). */
export function formatIpv6(b: Uint8Array): string {
  const g: string[] = [];
  for (let i = 0; i < 16; i += 2) g.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return g.join(':');
  return `${g.slice(0, best).join(':')}::${g.slice(best + bestLen).join(':')}`;
}

/** A parsed network. The host bits are cleared in every representation. */
export interface Cidr {
  /** Normalised text "addr/prefix" (e.g. 10.1.2.3/8 -> 10.0.0.0/8, fd00::1/8 -> fd00::/8). */
  cidr: string;
  family: 4 | 6;
  /** Network address in network byte order (4 or 16 bytes). */
  bytes: Uint8Array;
  prefix: number;
  /** IPv4 network as numbers (for matching without allocation). */
  v4?: { net: number; mask: number };
  /** IPv6 network as 8 words and the prefix length. */
  v6?: { words: number[]; bits: number };
}

/** Parses "a.b.c.d/n", "x::y/n" or a bare address (host network); undefined when it does not parse. */
export function parseCidr(text: string): Cidr | undefined {
  const s = text.trim();
  const slash = s.indexOf('/');
  const addr = slash >= 0 ? s.slice(0, slash) : s;
  const bitsStr = slash >= 0 ? s.slice(slash + 1) : undefined;
  if (bitsStr !== undefined && !/^\d{1,3}$/.test(bitsStr)) return undefined;
  const v4 = ipv4ToInt(addr);
  if (v4 >= 0) {
    // a leading zero (010.0.0.1) is octal to some parsers, decimal to others: refused, as inet_pton does
    if (/(?:^|\.)0\d/.test(addr)) return undefined;
    const prefix = bitsStr === undefined ? 32 : Number(bitsStr);
    if (prefix > 32) return undefined;
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    const net = (v4 & mask) >>> 0;
    const bytes = Uint8Array.of(net >>> 24, (net >>> 16) & 0xff, (net >>> 8) & 0xff, net & 0xff);
    return { cidr: `${bytes.join('.')}/${prefix}`, family: 4, bytes, prefix, v4: { net, mask } };
  }
  const w = ipv6Words(addr);
  if (!w) return undefined;
  const prefix = bitsStr === undefined ? 128 : Number(bitsStr);
  if (prefix > 128) return undefined;
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 16; i++) {
    const bits = Math.max(0, Math.min(8, prefix - i * 8));
    const byte = i % 2 === 0 ? (w[i >> 1]! >> 8) & 0xff : w[i >> 1]! & 0xff;
    bytes[i] = bits === 0 ? 0 : byte & (0xff << (8 - bits)) & 0xff;
  }
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((bytes[i]! << 8) | bytes[i + 1]!);
  return { cidr: `${formatIpv6(bytes)}/${prefix}`, family: 6, bytes, prefix, v6: { words, bits: prefix } };
}

/** Whether the address text `ip` lies in the network `c` (false for another family or a non-address). */
export function cidrContains(c: Cidr, ip: string): boolean {
  const v4 = ipv4ToInt(ip);
  if (v4 >= 0) return c.v4 !== undefined && (v4 & c.v4.mask) >>> 0 === c.v4.net;
  if (!c.v6) return false;
  const w = ipv6Words(ip);
  if (!w) return false;
  let bits = c.v6.bits;
  for (let i = 0; i < 8 && bits > 0; i++) {
    const take = Math.min(16, bits);
    const mask = (0xffff << (16 - take)) & 0xffff;
    if ((w[i]! & mask) !== (c.v6.words[i]! & mask)) return false;
    bits -= take;
  }
  return true;
}
