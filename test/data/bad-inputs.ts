import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';

/** Build a class-folder data set with one of each kind of bad input beside good images. */
export async function makeBadFolder(root: string): Promise<{ root: string; bad: Record<string, string> }> {
  const good = async (file: string, shade: number) => {
    await fsp.mkdir(path.dirname(file), { recursive: true });
    await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: shade, g: 255 - shade, b: 90 } } })
      .jpeg()
      .toFile(file);
  };
  for (let i = 0; i < 3; i++) {
    await good(path.join(root, 'cats', `cat${i}.jpg`), 40 + i);
    await good(path.join(root, 'dogs', `dog${i}.jpg`), 200 - i);
  }
  const jpeg = await fsp.readFile(path.join(root, 'cats', 'cat0.jpg'));
  const bad = {
    zero: path.join(root, 'cats', 'a-empty.jpg'),
    truncated: path.join(root, 'cats', 'b-truncated.jpg'),
    text: path.join(root, 'dogs', 'c-text.png'),
    unreadable: path.join(root, 'dogs', 'd-broken-link.jpg'),
    emptyClass: path.join(root, 'empty-class'),
  };
  await fsp.writeFile(bad.zero, new Uint8Array(0));
  await fsp.writeFile(bad.truncated, jpeg.subarray(0, Math.floor(jpeg.length / 2)));
  await fsp.writeFile(bad.text, 'this is a text file, not a PNG\n');
  await fsp.symlink(path.join(root, 'no-such-target.jpg'), bad.unreadable);
  await fsp.mkdir(bad.emptyClass);
  return { root, bad };
}
