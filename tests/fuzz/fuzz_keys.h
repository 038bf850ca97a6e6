/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_keys.h - the two RSA-2048 key pairs of the fuzzers' gateway (E_PK and
 * F_G). Fixed, so a seed sealed to them today still opens tomorrow; they
 * protect nothing and exist only in this test directory.
 */
#ifndef SGA_FUZZ_KEYS_H
#define SGA_FUZZ_KEYS_H

static const char FUZZ_PK_PEM[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCez2aEKwoqTLFf\n"
    "Gb/e6tXMP+SuVeRcW9HNBXvOSw55GpCvie2yQh3DBfOcJrjQLQgQ3KF/JoLULmdv\n"
    "iDw/NxsntM0Fz9ruR8edanzcH+pJHumXz+zf8sX/IRjNHR+OLx2ibi2Dex+KwDOt\n"
    "k+roQFrLA87m1qj2hFlRSQ5ZkSBRgKfJ3HsyAKDy4ZE9nOTbKHaRSyvrKsEIQqUH\n"
    "U5f5N0U89mCjbJAt5GwRN2WWyaiPT0rJ3CwTSUOmXtm5uftsagJCWzHsBu8veWuY\n"
    "PndN/tLOfFrvUOWIqkal3pJsVWbOXkru4dGSB0FdE2MgAbPOLug1xtNfAw6NHl1h\n"
    "tG2xj4GLAgMBAAECggEASAk878PUIxbRuBkmgvfTzgfHc9rrMIfH1W9g1tUN9hn6\n"
    "Ol3ez6aU+HM5KwIXf/qFN5zUtqfh3VxFN/68kVIuQ6cL/tBndwFhRwLYK0Ng0xUu\n"
    "EVpUEMt/S3iYVuYYe7bcguLmS0csqhP//QLlIb+bT45lKimBz/x9xVTVqQQe/Eif\n"
    "tbFxIntG16yC5z4AnvF+G2rZ606HHj/N50P7P9JAAADslKjGpxA2Ml2XN6noN3qe\n"
    "02tdiRemqzAWuMW6+1QmUYurXir2p3y6hZxt4E1MGpRQk5aIcYBpB+xsDLv+5rDg\n"
    "JeVY+BnBqoIujLjVs6d1i5to4c0xTDzrz6RiFU3VLQKBgQDYLGKZ5DSOUrA3FV3k\n"
    "3qxnQ+F7VLBo25UGUiKep2N4fhkXI5DlAA+IuIu3qqUQk7bCxhabfrqypVz6heps\n"
    "kiw9sFnJlq4tZH0qk3m6wx0aPobNG6B67c3gbniF10Hac6rv4AfTemPj14wryfCr\n"
    "54SB0+u6l/QrQEgQo/dpq1CLHQKBgQC8EYhf9GbALvcK7KaQTbDKzXRA1q6LRNAQ\n"
    "moW2I2cHXdWYpKpEC0vOniEC19TecqSzfEsJIA3KkbsbchpVkn4z2foHN81KQ9P5\n"
    "LZincBpD5fsQZoPj3kTmdPEG5tNRW/bQ0ZWsh0fcZucKbYIXtkI5Z02UMlGYsLL5\n"
    "iSiogOR2xwKBgQDSN19vTbc6C/kmp9WWAmBfT2iPGY0vexFRgz/9TsPxYZaepMx7\n"
    "lPKGPwhHhF9eXnbks+M6NSPzI9HmIaIVEJSLLNozqh8ZL1Z0t9Mxphm/8rv963bE\n"
    "9Eo3jNYROYHloIPDHvYdVjCbWXoK/ybW1J5L7jyXSLt979XksL6heKIrlQKBgDSV\n"
    "YmAR4bjSaNhxGpE2Z7wMffizDdJ6xwIdck1e0KvKnLI1ODYWQnfe1rQIzMf1nf9h\n"
    "PUmr4K9G193wpVRPxWGSDMp/27JsDJSbHxeRzIY3g18uiqnnt7QH9mxLlcIlyHjS\n"
    "YNsAaCND0k2kGL+wgguyyoopF49tuFz08J1MjJR5AoGARAdgY8BrE+UcprKDCXnx\n"
    "yoLYs/T8PmbVC1RWymK9gqtJMSW6+Kv1twiIYF9ibuRCoPYCoS3fZtoeFpZd5wz/\n"
    "+F0ADL286d6hW4glEyFyboGD73LjQx8m9M+aW3nIrCT2m1ZyO9/VCSBgQLJRYGQ+\n"
    "x0DQHcEyHmzPEZDqJLgqTQM=\n"
    "-----END PRIVATE KEY-----\n";
static const char FUZZ_TPK_PEM[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvwIBADANBgkqhkiG9w0BAQEFAASCBKkwggSlAgEAAoIBAQDDsYJTGzXc0jlC\n"
    "I/jylG89T0XVbCgXvYjQnUJ/uvKtvha1bFQFjoO95p6+ay+N8KrZPWAPy1Vdjp8L\n"
    "McGHkisd+chUdMuOdKFLaReH17S0P82QJX8b4NxRiRPaDJFAR++GHgvIk95wPbuZ\n"
    "rdEJoBXeaq8wsyDzPPiArGGVkZ2SF0Mmg10F8c+V78K6+aZDPpbQXVobn/uI2NgA\n"
    "PhhfsrevL5zsT08MgROIjhU2ffZQb+chYpi95PYMLXSWkn7zQ1FXPSFGmQW/dpjq\n"
    "wHGKZBz60p6aGRBw2Os9EwfAtbFNpsIvF5TEVAUoDHSONkoPvpuf3d20vYu1bFun\n"
    "A2yHEWLjAgMBAAECggEABMbPbIyMewWymhewsD3JR/t9s+Do9Z4NudyCJAYB0xXX\n"
    "Dg9FLxbfG60xEMAjBVmWLKlKhU2BmZVX8nkAxU4JuWNAbYylmfuPeFIUs0nOQlwQ\n"
    "U3ARiIerjl3vMHJVaqFBinTZ9XJj3+TR2xrFWxvKN4dDxseIirIL9XAVDbE5Nw3z\n"
    "8lL1AJa7VT7JXkp2Q916w86qK5z5ybDeDCkd2rYyLZHNCUYtLBzt1CFO/M0xs3cR\n"
    "2xi002GwHQ83aM69eG/Mh+PGRn0pBsvBtKa3NhcgzbA0z4isCm9+P+7u9FVI/4EP\n"
    "Mg2c2oPCB4PF+JQD6jEhf7PC5rBfpkKCGxU40U0WaQKBgQD/4nD84Ytx1ksTfyG4\n"
    "JpbiqnsXHvXKLZ44nDhP+9kcLEX5yb3u/ozCfP7qTSVamFi9drtdYv9/3eOSrAEz\n"
    "7wddF4tpgGyVwLsxKN9vdDOhQclef+C3iFfJEQUn8JDlUSkknlkgMObbOu+PRlcz\n"
    "TbURL2wxKnYCsKar2BDgcQupnQKBgQDDyB1dmdqCdAj7Bhl0byqd6SmWNpLRLSQn\n"
    "M4GXxHLiOvRQ3aqJIwJbAteXLuDSqkHybbJ//suCpocMAE7jVwj2RboDX9eyhcgT\n"
    "CNAetdks6Ll5VEnOP7DEYK0EypxlOarmTyk2aMJ7LfU8fvp7fhGy2QLH8MN0HOl5\n"
    "yFVpD8vWfwKBgQD36GTbO5Ej+x/FhdgfV5O7iruyjNZIyKWP5xpPs4qG1wX8mU4g\n"
    "rBGno/489f0Ipqzi8pNYSL+NHGaNBYQs0pnpwRPaZQfOlmlFmXnPu18CDoCPw4jt\n"
    "h3S1Yn4CUfmvklAwIBHtNDOVlqXdw6JcHB8exTkm8SJgPNFdj/nZ2OwZqQKBgQCn\n"
    "rHt57op1r2sBkfe7AHo/Q7GaNKMJAuAzsqkKkfTSTCtyFmY3jQQ3bfe2Qy/JPIe+\n"
    "WLTHajBhdL20SY9GpQPH52+n9C2Hd4wiwSl9I8Eb9TTj9IxBV8rMZP/JWr0W9Iyp\n"
    "MqLZNl9Zn8KoTRe5K/98bN803b6HczuCUVDU6fJpgQKBgQD5fB/xT9ohLFpop2i2\n"
    "3n7pkd0TQgM4gSLjT5taO8PLDwW6+Zpdd12/CgCvnRNpEV3zZR1WDWesllHGM4hm\n"
    "FrpmWfJsjFGl6hSP4KmgRVj3wJd+YivElc6auliOBMY+wXqjpOU/190MO729jvn3\n"
    "RIU7yEPhlXzOe4oGOC2lQxhigA==\n"
    "-----END PRIVATE KEY-----\n";

#endif
