; Inno Setup 6 script for 共济前台 (Gongji Front Desk): Simplified Chinese and English.
; Installs the PyInstaller one-folder build (build\dist\gongji-front-desk, made by `make installer` on
; Windows, or by pyinstaller installers\pyinstaller\gongji.spec) into Program Files.
; The database lives in %LOCALAPPDATA%\gongji-front-desk\ (platformdirs) and is never written by the
; installer: an upgrade installs over the programs only, and uninstalling leaves the data in place.
; Compile: iscc installers\windows\gongji-front-desk.iss

#define AppName "共济前台"
#define AppVersion "0.1.0"
#define BuildDir "..\..\build\dist\gongji-front-desk"
#define GuiExe "gongji-front-desk.exe"
#define CliExe "desktop-app.exe"

[Setup]
AppId={{7C1F2E0A-4B8D-4E5F-9A63-2B6C1D0E9F47}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=Gongji Front Desk
DefaultDirName={autopf}\GongjiFrontDesk
DefaultGroupName={#AppName}
OutputDir=..\..\build
OutputBaseFilename=gongji-front-desk-{#AppVersion}-setup
SetupIconFile=..\..\resources\icons\gongji.ico
UninstallDisplayIcon={app}\{#GuiExe}
Compression=lzma2
SolidCompression=yes
ArchitecturesInstallIn64BitMode=x64compatible
PrivilegesRequired=admin
CloseApplications=yes
WizardStyle=modern

[Languages]
Name: "chinesesimplified"; MessagesFile: "compiler:Languages\ChineseSimplified.isl"
Name: "english"; MessagesFile: "compiler:Default.isl"

[CustomMessages]
chinesesimplified.DesktopIcon=在桌面创建快捷方式
english.DesktopIcon=Create a desktop shortcut
chinesesimplified.RunAfter=启动共济前台
english.RunAfter=Start Gongji Front Desk

[Tasks]
Name: "desktopicon"; Description: "{cm:DesktopIcon}"; Flags: checkedonce

[Files]
Source: "{#BuildDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[InstallDelete]
; an upgrade replaces the previous build's libraries, never the user's data
Type: filesandordirs; Name: "{app}\_internal"

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#GuiExe}"
Name: "{group}\{cm:UninstallProgram,{#AppName}}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#GuiExe}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#GuiExe}"; Description: "{cm:RunAfter}"; Flags: nowait postinstall skipifsilent
