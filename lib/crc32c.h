/*
** CRC32C (Castagnoli: reflected polynomial 0x82f63b78, init and final xor
** ~0), used by the statefile (heartbeat/statefile.c) and the local fence
** record (fencing/record.c).  Continue `crc` (0 to start) over buf:
** crc32c(0, "123456789", 9) == 0xe3069283.
*/
#ifndef HASVC_LIB_CRC32C_H
#define HASVC_LIB_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

#endif
