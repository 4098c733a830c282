// userfaultfd(2) (linux/userfaultfd.h): the API handshake, and the ioctls that register a range
// for missing-page faults, fill it with copies of other memory, and unregister it.

export const UFFD_API = 0xaan;
export const UFFDIO_REGISTER_MODE_MISSING = 1n;

/** _IOWR(0xAA, 0x3F, struct uffdio_api): { api, features, ioctls }, 24 bytes. */
export const UFFDIO_API = 0xc018aa3f;
/** _IOWR(0xAA, 0x00, struct uffdio_register): { range: { start, len }, mode, ioctls }, 32 bytes. */
export const UFFDIO_REGISTER = 0xc020aa00;
/** _IOR(0xAA, 0x01, struct uffdio_range): { start, len }, 16 bytes. */
export const UFFDIO_UNREGISTER = 0x8010aa01;
/** _IOWR(0xAA, 0x03, struct uffdio_copy): { dst, src, len, mode, copy }, 40 bytes. */
export const UFFDIO_COPY = 0xc028aa03;
