"""Draw the app icon (共 on a green rounded square) with the bundled font; writes PNG sizes and a Windows .ico.

Run once when the design changes: .venv/bin/python installers/make_icon.py
"""

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "resources" / "icons"


def draw(size: int) -> Image.Image:
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    pen.rounded_rectangle((0, 0, size - 1, size - 1), radius=size // 6, fill=(27, 122, 84, 255))
    font = ImageFont.truetype(str(ROOT / "resources" / "fonts" / "wqy-microhei.ttc"), int(size * 0.68), index=0)
    pen.text((size / 2, size / 2), "共", font=font, fill="white", anchor="mm")
    return image


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    big = draw(256)
    big.save(OUT / "gongji-256.png")
    draw(48).save(OUT / "gongji-48.png")
    big.save(OUT / "gongji.ico", sizes=[(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)])
    print("wrote", *sorted(p.name for p in OUT.iterdir()))
