// The C library's functions that neither node:fs nor libuv offers (fallocate, mallopt), reached through koffi: an FFI
// package that ships prebuilt binaries and is an optional dependency. Where koffi, glibc or the function is missing
// (another OS, musl, an install without optional packages), `libcFunction` returns undefined and each caller falls
// back to doing without: everything called here only makes things cheaper, never different.
import { createRequire } from 'node:module';
import { platform } from 'node:os';

interface KoffiLibrary {
  func(signature: string): unknown;
}

let library: KoffiLibrary | null | undefined;

function libc(): KoffiLibrary | undefined {
  if (library === undefined) {
    library = null;
    if (platform() === 'linux') {
      try {
        const koffi = createRequire(import.meta.url)('koffi') as { load(name: string): KoffiLibrary };
        library = koffi.load('libc.so.6');
      } catch {
        library = null;
      }
    }
  }
  return library ?? undefined;
}

/** The libc function with this C signature as koffi declares it, or undefined where it cannot be had. */
export function libcFunction<F>(signature: string): F | undefined {
  const lib = libc();
  if (lib === undefined) return undefined;
  try {
    return lib.func(signature) as F;
  } catch {
    return undefined;
  }
}
