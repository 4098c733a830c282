import { ET_CORE, EV_CURRENT, PN_XNUM, SHN_UNDEF, SHT_NULL } from './constants.js';
import type { ElfLayout, Phdr } from './layout.js';

/**
 * Size of what precedes the notes of an ET_CORE file with `phnum` program headers: the ELF
 * header, the program headers and, past 65,534 of them (PN_XNUM), section header 0.
 */
export function coreHeadSize(layout: ElfLayout, phnum: number): bigint {
  return BigInt(layout.ehdrSize + phnum * layout.phdrSize + (phnum >= PN_XNUM ? layout.shdrSize : 0));
}

/**
 * Encodes the ELF header and program headers of an ET_CORE file. With PN_XNUM or more headers,
 * e_phnum is PN_XNUM and the real count goes into sh_info of a section header 0 placed right
 * after the program headers, as the kernel's extended numbering does.
 */
export function encodeCoreHead(layout: ElfLayout, machine: number, phdrs: readonly Phdr[]): Buffer {
  const phnum = phdrs.length;
  const extended = phnum >= PN_XNUM;
  const phoff = BigInt(layout.ehdrSize);
  const parts = [
    layout.encodeEhdr({
      osabi: 0,
      e_type: ET_CORE,
      e_machine: machine,
      e_version: EV_CURRENT,
      e_entry: 0n,
      e_phoff: phoff,
      e_shoff: extended ? phoff + BigInt(phnum * layout.phdrSize) : 0n,
      e_flags: 0,
      e_ehsize: layout.ehdrSize,
      e_phentsize: layout.phdrSize,
      e_phnum: extended ? PN_XNUM : phnum,
      e_shentsize: extended ? layout.shdrSize : 0,
      e_shnum: extended ? 1 : 0,
      e_shstrndx: SHN_UNDEF,
    }),
    ...phdrs.map((p) => layout.encodePhdr(p)),
  ];
  if (extended) {
    parts.push(
      layout.encodeShdr({
        sh_name: 0,
        sh_type: SHT_NULL,
        sh_flags: 0n,
        sh_addr: 0n,
        sh_offset: 0n,
        sh_size: 1n,
        sh_link: SHN_UNDEF,
        sh_info: phnum,
        sh_addralign: 0n,
        sh_entsize: 0n,
      }),
    );
  }
  return Buffer.concat(parts);
}
